package lambdasim

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// runtimeOnly are the platform variables Lambda gives the runtime but not
// extensions (besides every "_"-prefixed one).
var runtimeOnly = map[string]bool{
	"AWS_EXECUTION_ENV":          true,
	"AWS_LAMBDA_LOG_GROUP_NAME":  true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true,
	"LAMBDA_TASK_ROOT":           true,
	"LAMBDA_RUNTIME_DIR":         true,
	"AWS_XRAY_CONTEXT_MISSING":   true,
	"AWS_XRAY_DAEMON_ADDRESS":    true,
	"AWS_LAMBDA_MAX_CONCURRENCY": true,
}

// credentialVars are passed through from lambdasim's own environment, so a
// function run locally can call AWS with the developer's credentials.
var credentialVars = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// environment builds the runtime's and the extensions' environments the way
// Lambda does: customer variables, credentials and platform variables, with
// the extensions' copy stripped of runtime-only and "_"-prefixed keys.
func (s *Sim) environment() (runtime, extension []string) {
	c := s.cfg
	vars := map[string]string{
		"PATH": os.Getenv("PATH"),
		"LANG": "en_US.UTF-8",
		"TZ":   ":UTC",
	}
	for _, k := range credentialVars {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range c.Env {
		vars[k] = v
	}
	initType := "on-demand"
	if c.MaxConcurrency > 0 {
		initType = "lambda-managed-instances"
	}
	taskRoot := "/var/task"
	if c.Runtime != nil && c.Runtime.Path != "" {
		if abs, err := filepath.Abs(filepath.Dir(c.Runtime.Path)); err == nil {
			taskRoot = abs
		}
	}
	reserved := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          s.addr,
		"AWS_LAMBDA_FUNCTION_NAME":        c.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     c.FunctionVersion,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.MemoryMB),
		"AWS_REGION":                      c.Region,
		"AWS_DEFAULT_REGION":              c.Region,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  initType,
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + c.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      s.logStream,
		"_HANDLER":                        c.Handler,
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"AWS_XRAY_CONTEXT_MISSING":        "LOG_ERROR",
		"AWS_XRAY_DAEMON_ADDRESS":         "169.254.79.129:2000",
		"_AWS_XRAY_DAEMON_ADDRESS":        "169.254.79.129",
		"_AWS_XRAY_DAEMON_PORT":           "2000",
	}
	if c.MaxConcurrency > 0 {
		reserved["AWS_LAMBDA_MAX_CONCURRENCY"] = strconv.Itoa(c.MaxConcurrency)
	}
	for k, v := range reserved {
		vars[k] = v
	}
	for k, v := range vars {
		kv := k + "=" + v
		runtime = append(runtime, kv)
		if strings.HasPrefix(k, "_") || runtimeOnly[k] {
			continue
		}
		extension = append(extension, kv)
	}
	sort.Strings(runtime)
	sort.Strings(extension)
	return runtime, extension
}
