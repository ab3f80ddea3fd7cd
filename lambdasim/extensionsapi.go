package lambdasim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// maxRequestBody bounds the small JSON bodies of the Extensions and Telemetry
// APIs.
const maxRequestBody = 1 << 20

func (s *Sim) handleRegister(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(lambdaapi.HeaderExtensionName)
	if name == "" {
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidExtensionName, "missing "+lambdaapi.HeaderExtensionName+" header")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeInvalidRequestFormat, err.Error())
		return
	}
	var req lambdaapi.RegisterRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeInvalidRequestFormat, "register body: "+err.Error())
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.regOpen || s.state != stateInit {
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeRegistrationClosed, "extension registration is closed")
		return
	}
	_, external := s.externals[name]
	e := &extension{id: newUUID(), name: name, external: external}
	var events []string
	for _, ev := range req.Events {
		switch ev {
		case lambdaapi.Invoke:
			if s.cfg.MaxConcurrency > 0 {
				lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidEventType, "Lambda Managed Instances extensions may register only for SHUTDOWN")
				return
			}
			e.invoke = true
		case lambdaapi.Shutdown:
			if !external {
				lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidEventType,
					fmt.Sprintf("%q is an internal extension (no external extension has that file name) and may not register for SHUTDOWN", name))
				return
			}
			e.shutdown = true
		default:
			lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidEventType, fmt.Sprintf("unknown event type %q", ev))
			return
		}
		events = append(events, string(ev))
	}
	if s.extByNameLocked(name) != nil {
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, fmt.Sprintf("extension %q is already registered", name))
		return
	}
	if len(s.exts) >= maxExtensions {
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeTooManyExtensions, fmt.Sprintf("at most %d extensions may register", maxExtensions))
		return
	}
	s.exts[e.id] = e
	if events == nil {
		events = []string{}
	}
	s.hub.emit(time.Now(), lambdaapi.EventExtension, lambdaapi.ExtensionRecord{Name: name, State: "Registered", Events: events})
	s.broadcastLocked()

	resp := lambdaapi.RegisterResponse{FunctionName: s.cfg.FunctionName, FunctionVersion: s.cfg.FunctionVersion, Handler: s.cfg.Handler}
	for _, f := range strings.Split(r.Header.Get(lambdaapi.HeaderExtensionAcceptFeature), ",") {
		if strings.TrimSpace(f) == lambdaapi.FeatureAccountID {
			resp.AccountID = s.cfg.AccountID
		}
	}
	h := w.Header()
	h.Set(lambdaapi.HeaderExtensionIdentifier, e.id)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(resp)
}

// extensionOf finds the caller by its identifier header, answering 403 when
// there is none or it is unknown.
func (s *Sim) extensionOfLocked(w http.ResponseWriter, r *http.Request) *extension {
	id := r.Header.Get(lambdaapi.HeaderExtensionIdentifier)
	if id == "" {
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeMissingExtensionIdentifier, "missing "+lambdaapi.HeaderExtensionIdentifier+" header")
		return nil
	}
	e := s.exts[id]
	if e == nil {
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeUnknownExtensionIdentifier, "unknown extension identifier "+id)
		return nil
	}
	return e
}

func (s *Sim) handleExtensionNext(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	e := s.extensionOfLocked(w, r)
	if e == nil {
		s.mu.Unlock()
		return
	}
	if e.errored {
		s.mu.Unlock()
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "the extension reported an error and must exit")
		return
	}
	e.firstNext = true
	if inv := e.current; inv != nil {
		e.current = nil
		delete(inv.pendingExts, e)
		if now.After(inv.extEnd) {
			inv.extEnd = now
		}
		s.maybeCompleteLocked(inv)
	}
	s.broadcastLocked()
	gen := s.gen
	s.mu.Unlock()

	var ev *pendingEvent
	err := s.waitFor(r.Context(), func() bool {
		if s.gen != gen {
			return true
		}
		for len(e.queue) > 0 {
			pe := e.queue[0]
			e.queue = e.queue[1:]
			if pe.inv != nil && pe.inv.finished {
				continue // the invocation ended before the extension asked
			}
			ev = &pe
			if pe.inv != nil {
				e.current = pe.inv
			} else {
				e.gotEvent = true
			}
			return true
		}
		return false
	})
	if err != nil || ev == nil {
		// The caller went away or the environment was torn down under it.
		// A 200 must carry an event; a 500 tells the extension to exit.
		lambdaapi.WriteError(w, http.StatusInternalServerError, "Extension.Unavailable", "the environment was reset or shut down")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(lambdaapi.HeaderExtensionEventID, newUUID())
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(ev.ev)
}

// handleExtensionError serves /extension/init/error (init true) and
// /extension/exit/error.
func (s *Sim) handleExtensionError(init bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		errType := r.Header.Get(lambdaapi.HeaderExtensionErrorType)
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
		s.mu.Lock()
		defer s.mu.Unlock()
		e := s.extensionOfLocked(w, r)
		if e == nil {
			return
		}
		if errType == "" {
			lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeMissingErrorType, "missing "+lambdaapi.HeaderExtensionErrorType+" header")
			return
		}
		if e.errored {
			lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "the extension already reported an error")
			return
		}
		if init && (s.state != stateInit || e.firstNext) {
			lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "init error is only accepted before the extension's first next")
			return
		}
		var er lambdaapi.ErrorResponse
		_ = json.Unmarshal(body, &er)
		msg := er.ErrorMessage
		if msg == "" {
			msg = "extension " + e.name + " reported " + errType
		}
		e.errored = true
		s.hub.emit(time.Now(), lambdaapi.EventExtension, lambdaapi.ExtensionRecord{Name: e.name, State: "Failed", Events: e.eventNames(), ErrorType: errType})
		switch s.state {
		case stateInit:
			if s.initErr == nil {
				s.initErr = &initFailure{status: lambdaapi.StatusError, errorType: errType, message: msg}
			}
		case stateReady:
			for _, inv := range s.active {
				s.finishLocked(inv, lambdaapi.StatusFailure, errType, msg)
			}
			if s.broken == "" {
				s.broken = string(lambdaapi.ShutdownFailure)
			}
		}
		s.broadcastLocked()
		writeAccepted(w)
	}
}

func (e *extension) eventNames() []string {
	out := []string{}
	if e.invoke {
		out = append(out, string(lambdaapi.Invoke))
	}
	if e.shutdown {
		out = append(out, string(lambdaapi.Shutdown))
	}
	return out
}

func (s *Sim) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	s.mu.Lock()
	e := s.extensionOfLocked(w, r)
	if e == nil {
		s.mu.Unlock()
		return
	}
	if e.firstNext || s.state != stateInit {
		s.mu.Unlock()
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeTelemetrySubscriptionClosed, "subscriptions close at the extension's first next")
		return
	}
	name, id := e.name, e.id
	s.mu.Unlock()
	if err != nil {
		lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeValidation, err.Error())
		return
	}
	var req lambdaapi.SubscribeRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeValidation, "subscription body: "+err.Error())
		return
	}
	required := ""
	if s.cfg.MaxConcurrency > 0 {
		required = lambdaapi.Schema20250129
	}
	req, err = req.Validate(required)
	if err != nil {
		var ve *lambdaapi.ValidationError
		msg := err.Error()
		if errors.As(err, &ve) {
			msg = ve.Msg
		}
		lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeValidation, msg)
		return
	}
	if err := s.hub.subscribe(id, name, req); err != nil {
		lambdaapi.WriteError(w, http.StatusInternalServerError, "Telemetry.Unavailable", err.Error())
		return
	}
	types := make([]string, len(req.Types))
	for i, t := range req.Types {
		types[i] = string(t)
	}
	s.hub.emit(time.Now(), lambdaapi.EventTelemetrySubscription, lambdaapi.TelemetrySubscription{Name: name, State: "Subscribed", Types: types})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `"OK"`)
}

// logRecord is the telemetry record of one output line. With
// AWS_LAMBDA_LOG_FORMAT=JSON a line that is a JSON object is passed as the
// object and any other line is wrapped in one, as Lambda's JSON log format
// does; otherwise the record is the line as a string.
func (s *Sim) logRecord(line []byte) json.RawMessage {
	if !strings.EqualFold(s.cfg.Env["AWS_LAMBDA_LOG_FORMAT"], "JSON") {
		b, _ := json.Marshal(string(line))
		return b
	}
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return append(json.RawMessage(nil), trimmed...)
	}
	s.mu.Lock()
	var reqID string
	for id := range s.active {
		reqID = id
	}
	s.mu.Unlock()
	b, _ := json.Marshal(struct {
		Timestamp string `json:"timestamp"`
		Level     string `json:"level"`
		RequestID string `json:"requestId,omitempty"`
		Message   string `json:"message"`
	}{time.Now().UTC().Format(lambdaapi.TelemetryTimeFormat), "INFO", reqID, string(line)})
	return b
}

func joinAnd(items []string) string {
	sort.Strings(items)
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func sortExits(x []ExtensionExit) {
	sort.Slice(x, func(i, j int) bool { return x[i].Name < x[j].Name })
}

func sortStrings(x []string) { sort.Strings(x) }
