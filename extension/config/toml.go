package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxFileBytes bounds the configuration file: it is a handful of keys.
const maxFileBytes = 1 << 20

// parseTOML reads the subset of TOML the configuration needs: [table] and
// [table.sub] headers, key = value pairs with bare or quoted keys, basic and
// literal strings, integers, booleans and comments. Anything else is an error
// naming its line, so that a typo is never silently ignored. The result maps
// dotted paths ("flush.strategy", "exporter.headers.api-key") to values of
// type string, int64 or bool.
func parseTOML(data []byte) (map[string]any, error) {
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("file is larger than %d bytes", maxFileBytes)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("file is not UTF-8")
	}
	out := map[string]any{}
	table := ""
	for n, line := range strings.Split(string(data), "\n") {
		lineNo := n + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 || strings.HasPrefix(line, "[[") {
				return nil, fmt.Errorf("line %d: malformed table header", lineNo)
			}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != '#' {
				return nil, fmt.Errorf("line %d: unexpected text after table header", lineNo)
			}
			name, err := parseDottedKey(strings.TrimSpace(line[1:end]))
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
			table = name
			continue
		}
		eq := keyEnd(line)
		if eq < 0 {
			return nil, fmt.Errorf("line %d: want key = value", lineNo)
		}
		key, err := parseDottedKey(strings.TrimSpace(line[:eq]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		val, rest, err := parseValue(strings.TrimSpace(line[eq+1:]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", lineNo, key, err)
		}
		if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
			return nil, fmt.Errorf("line %d: %s: unexpected text after the value", lineNo, key)
		}
		full := key
		if table != "" {
			full = table + "." + key
		}
		if _, dup := out[full]; dup {
			return nil, fmt.Errorf("line %d: %s is set twice", lineNo, full)
		}
		out[full] = val
	}
	return out, nil
}

// keyEnd finds the '=' that ends a key, skipping quoted key parts.
func keyEnd(line string) int {
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '=':
			return i
		}
	}
	return -1
}

// parseDottedKey reads a.b."c d" into "a.b.c d".
func parseDottedKey(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty key")
	}
	var parts []string
	for s != "" {
		s = strings.TrimSpace(s)
		var part string
		switch s[0] {
		case '"', '\'':
			v, rest, err := parseString(s)
			if err != nil {
				return "", err
			}
			part, s = v, rest
		default:
			i := 0
			for i < len(s) && isBareKeyChar(s[i]) {
				i++
			}
			if i == 0 {
				return "", fmt.Errorf("invalid key %q", s)
			}
			part, s = s[:i], s[i:]
		}
		parts = append(parts, part)
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		if s[0] != '.' {
			return "", fmt.Errorf("invalid key: unexpected %q", s)
		}
		s = s[1:]
		if strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("key ends with a dot")
		}
	}
	return strings.Join(parts, "."), nil
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// parseValue reads one value and returns what follows it.
func parseValue(s string) (any, string, error) {
	if s == "" {
		return nil, "", fmt.Errorf("missing value")
	}
	switch s[0] {
	case '"', '\'':
		return parseString(s)
	}
	end := 0
	for end < len(s) && s[end] != ' ' && s[end] != '\t' && s[end] != '#' {
		end++
	}
	tok, rest := s[:end], s[end:]
	switch tok {
	case "true":
		return true, rest, nil
	case "false":
		return false, rest, nil
	}
	digits := strings.ReplaceAll(tok, "_", "")
	if strings.Contains(tok, "__") || strings.HasPrefix(tok, "_") || strings.HasSuffix(tok, "_") {
		return nil, "", fmt.Errorf("malformed number %q", tok)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return nil, "", fmt.Errorf("unsupported value %q (want a string, an integer or a boolean)", tok)
	}
	return n, rest, nil
}

// parseString reads a basic ("...", with escapes) or literal ('...') string.
func parseString(s string) (string, string, error) {
	q := s[0]
	if strings.HasPrefix(s, `"""`) || strings.HasPrefix(s, "'''") {
		return "", "", fmt.Errorf("multi-line strings are not supported")
	}
	if q == '\'' {
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", "", fmt.Errorf("unterminated string")
		}
		return s[1 : 1+end], s[2+end:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), s[i+1:], nil
		case c == '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("unterminated escape")
			}
			i++
			switch s[i] {
			case '"', '\\':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u', 'U':
				width := 4
				if s[i] == 'U' {
					width = 8
				}
				if i+width >= len(s) {
					return "", "", fmt.Errorf("short unicode escape")
				}
				r, err := strconv.ParseUint(s[i+1:i+1+width], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", "", fmt.Errorf("invalid unicode escape")
				}
				b.WriteRune(rune(r))
				i += width
			default:
				return "", "", fmt.Errorf("invalid escape \\%c", s[i])
			}
		case c < 0x20 && c != '\t':
			return "", "", fmt.Errorf("control character in string")
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated string")
}
