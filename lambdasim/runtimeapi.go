package lambdasim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	rt := "/" + lambdaapi.RuntimeAPIVersion
	mux.HandleFunc("GET "+rt+"/runtime/invocation/next", s.handleRuntimeNext)
	mux.HandleFunc("POST "+rt+"/runtime/invocation/{id}/response", s.handleResponse)
	mux.HandleFunc("POST "+rt+"/runtime/invocation/{id}/error", s.handleInvocationError)
	mux.HandleFunc("POST "+rt+"/runtime/init/error", s.handleRuntimeInitError)
	ext := "/" + lambdaapi.ExtensionsAPIVersion + "/extension"
	mux.HandleFunc("POST "+ext+"/register", s.handleRegister)
	mux.HandleFunc("GET "+ext+"/event/next", s.handleExtensionNext)
	mux.HandleFunc("POST "+ext+"/init/error", s.handleExtensionError(true))
	mux.HandleFunc("POST "+ext+"/exit/error", s.handleExtensionError(false))
	mux.HandleFunc("PUT /"+lambdaapi.TelemetryAPIVersion+"/telemetry", s.handleSubscribe)
	return mux
}

// logDrainLimit bounds how long runtime next waits for the runtime's last log
// lines to be read before it reports runtimeDone.
const logDrainLimit = 100 * time.Millisecond

func (s *Sim) handleRuntimeNext(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.mu.Lock()
	proc := s.rt.proc
	s.mu.Unlock()
	if proc != nil {
		// What the runtime printed before asking for more work belongs before
		// its runtimeDone in the telemetry stream.
		ctx, cancel := context.WithTimeout(r.Context(), logDrainLimit)
		proc.stdout.drained(ctx)
		proc.stderr.drained(ctx)
		cancel()
	}
	if proc == nil {
		// Lambda starts the runtime only once the extensions it launched
		// have registered; an attached runtime may ask sooner, so its
		// first next waits for them rather than closing their registration.
		s.mu.Lock()
		early := s.state == stateDown
		if early {
			s.earlyNexts++
			s.broadcastLocked()
		}
		s.mu.Unlock()
		_ = s.waitFor(r.Context(), s.launchedRegisteredLocked)
		if early {
			s.mu.Lock()
			s.earlyNexts--
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	if s.state == stateShutdown {
		s.mu.Unlock()
		lambdaapi.WriteError(w, http.StatusInternalServerError, "Runtime.Unavailable", "the environment is shutting down")
		return
	}
	if s.rt.initError {
		s.mu.Unlock()
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "the runtime reported an init error")
		return
	}
	if inv := s.rt.current; inv != nil {
		if !inv.responded {
			s.mu.Unlock()
			lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition,
				"next called before invocation "+inv.id+" was answered")
			return
		}
		s.rt.current = nil
		if !inv.runtimeDone {
			inv.runtimeDone = true
			inv.runtimeEnd = now
			s.hub.emit(now, lambdaapi.EventRuntimeDone, s.runtimeDoneRecord(inv))
		}
		s.maybeCompleteLocked(inv)
	}
	if !s.rt.firstNext && s.state == stateInit {
		s.rt.firstNext = true
		s.regOpen = false
		s.hub.emit(now, lambdaapi.EventInitRuntimeDone, lambdaapi.InitRuntimeDone{
			InitializationType: s.initType(), Phase: s.phaseLocked(), Status: lambdaapi.StatusSuccess,
		})
	}
	s.broadcastLocked()
	gen := s.gen
	s.mu.Unlock()

	var inv *invocation
	err := s.waitFor(r.Context(), func() bool {
		if s.gen != gen || s.state == stateShutdown {
			return true
		}
		for i, q := range s.queue {
			if q.finished {
				continue
			}
			inv = q
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			inv.handed = time.Now()
			if s.cfg.MaxConcurrency == 0 {
				s.rt.current = inv
			}
			return true
		}
		return false
	})
	if err != nil || inv == nil {
		// The caller went away or the environment was torn down under it.
		// A 200 must carry an invocation; a 500 tells the runtime to exit.
		lambdaapi.WriteError(w, http.StatusInternalServerError, "Runtime.Unavailable", "the environment was reset or shut down")
		return
	}
	h := w.Header()
	(&lambdaapi.Invocation{
		RequestID:          inv.id,
		Deadline:           inv.deadline,
		InvokedFunctionARN: inv.arn,
		TraceID:            inv.trace,
		ClientContext:      inv.req.ClientContext,
		CognitoIdentity:    inv.req.CognitoIdentity,
		TenantID:           inv.req.TenantID,
		InvocationID:       inv.invocationID,
	}).SetHeaders(h)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.req.Payload)
}

// phaseLocked is the phase of the init running now.
// launchedRegisteredLocked reports whether init is past the point where the
// runtime would start: every external extension lambdasim launched has
// registered, or init has failed or is over.
func (s *Sim) launchedRegisteredLocked() bool {
	if s.state == stateDown {
		// Not even started: an attached runtime that asks before Start
		// (or before the init after a reset) waits for the init, as a
		// process Lambda starts during init cannot ask sooner. Answering
		// now would hand it the previous generation, reset under it.
		return false
	}
	if s.state != stateInit || s.rt.firstNext || s.initErr != nil {
		return true
	}
	for name, p := range s.externals {
		if p.Path != "" && s.extByNameLocked(name) == nil {
			return false
		}
	}
	return true
}

func (s *Sim) phaseLocked() string { return s.phase }

// claimLocked finds the invocation a /response or /error names and checks the
// runtime may answer it now.
func (s *Sim) claimLocked(r *http.Request) (*invocation, int, string, string) {
	id := r.PathValue("id")
	inv := s.active[id]
	if inv == nil || inv.handed.IsZero() {
		return nil, http.StatusBadRequest, lambdaapi.ErrTypeInvalidRequestID, "no invocation " + id + " is in progress"
	}
	if got := r.Header.Get(lambdaapi.HeaderInvocationID); got != "" && got != inv.invocationID {
		return nil, http.StatusGone, lambdaapi.ErrTypeInvalidInvocationID, "invocation id " + got + " is stale"
	}
	if inv.responding || inv.responded {
		return nil, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "invocation " + id + " was already answered"
	}
	return inv, 0, "", ""
}

func (s *Sim) handleResponse(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	streaming := false
	if mode := r.Header.Get(lambdaapi.HeaderResponseMode); mode != "" {
		if mode != lambdaapi.ResponseModeStreaming {
			lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeInvalidFunctionResponseMode,
				fmt.Sprintf("response mode %q is not supported", mode))
			return
		}
		streaming = true
	}
	inv := s.claim(w, r)
	if inv == nil {
		return
	}

	limit := int64(lambdaapi.MaxBufferedResponseBytes)
	if streaming {
		limit = lambdaapi.MaxStreamedResponseBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	end := time.Now()
	status, errType := lambdaapi.StatusSuccess, ""
	payload := body
	var answer func()
	switch {
	case err != nil:
		status, errType = lambdaapi.StatusError, "Runtime.TruncatedResponse"
		payload, _ = json.Marshal(lambdaapi.ErrorResponse{ErrorType: errType, ErrorMessage: "reading the response failed: " + err.Error()})
		answer = func() {
			lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeInvalidRequestFormat, err.Error())
		}
	case int64(len(body)) > limit:
		status, errType = lambdaapi.StatusError, lambdaapi.ErrTypeResponseTooLarge
		payload, _ = json.Marshal(lambdaapi.ErrorResponse{ErrorType: errType,
			ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", limit)})
		answer = func() {
			lambdaapi.WriteError(w, http.StatusRequestEntityTooLarge, lambdaapi.ErrTypeRequestEntityTooLarge,
				fmt.Sprintf("response exceeds %d bytes", limit))
		}
	case streaming && r.Trailer.Get(lambdaapi.HeaderFunctionErrorType) != "":
		errType = r.Trailer.Get(lambdaapi.HeaderFunctionErrorType)
		status = lambdaapi.StatusError
		var er lambdaapi.ErrorResponse
		if raw, derr := base64.StdEncoding.DecodeString(r.Trailer.Get(lambdaapi.HeaderFunctionErrorBody)); derr == nil {
			_ = json.Unmarshal(raw, &er)
		}
		if er.ErrorType == "" {
			er.ErrorType = errType
		}
		payload, _ = json.Marshal(er)
	}
	if answer == nil {
		answer = func() { writeAccepted(w) }
	}
	s.answered(w, inv, answer, func() {
		inv.respStart, inv.respEnd = start, end
		inv.status, inv.errorType, inv.payload, inv.streamed = status, errType, payload, streaming
		inv.produced = int64(len(body))
	})
}

// claim finds the invocation a /response or /error names and marks it being
// answered, or writes the refusal and returns nil.
func (s *Sim) claim(w http.ResponseWriter, r *http.Request) *invocation {
	s.mu.Lock()
	inv, code, typ, msg := s.claimLocked(r)
	if inv != nil {
		inv.responding = true
	}
	s.mu.Unlock()
	if inv == nil {
		lambdaapi.WriteError(w, code, typ, msg)
	}
	return inv
}

// answered records the runtime's answer (set applies it under the lock),
// tells the caller, writes the runtime's own answer, and then notes the peak
// memory while the runtime is busy with it. If the invocation ended while
// the body was read (a timeout), the answer is refused instead.
func (s *Sim) answered(w http.ResponseWriter, inv *invocation, answer, set func()) {
	s.mu.Lock()
	if inv.finished || inv.responded {
		s.mu.Unlock()
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "invocation "+inv.id+" has already ended")
		return
	}
	set()
	inv.responded = true
	close(inv.respondedCh)
	s.maybeCompleteLocked(inv)
	s.broadcastLocked()
	procs := s.allProcsLocked()
	s.mu.Unlock()
	answer()
	s.notePeak(inv, procs)
}

// notePeak reads the environment's peak RSS for inv while the runtime is busy
// with its answer, so the report need not read /proc on the critical path.
func (s *Sim) notePeak(inv *invocation, procs []*process) {
	kib := peakKiB(procs)
	s.mu.Lock()
	if !inv.finished {
		inv.peakKiB = kib
	}
	s.mu.Unlock()
}

func (s *Sim) handleInvocationError(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	inv := s.claim(w, r)
	if inv == nil {
		return
	}
	er, payload, ok := readErrorBody(r)
	if !ok {
		s.mu.Lock()
		inv.responding = false
		s.mu.Unlock()
		lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeInvalidRequestFormat, "error body exceeds the size limit")
		return
	}
	end := time.Now()
	s.answered(w, inv, func() { writeAccepted(w) }, func() {
		inv.respStart, inv.respEnd = start, end
		inv.status, inv.errorType, inv.payload = lambdaapi.StatusError, er.ErrorType, payload
	})
}

// errorDoc is an error report as runtimes send it. Its stack trace frames
// differ by runtime: strings (Node.js, Python) or objects (aws-lambda-go's
// {"path","line","label"}), so they are kept as they came.
type errorDoc struct {
	ErrorMessage string            `json:"errorMessage"`
	ErrorType    string            `json:"errorType"`
	StackTrace   []json.RawMessage `json:"stackTrace,omitempty"`
}

// readErrorBody reads an invocation or init error: the header names the type,
// the body (JSON, or the error-cause document) gives message and stack. A body
// that is not JSON is kept as the message. It also returns the error document
// the caller receives.
func readErrorBody(r *http.Request) (lambdaapi.ErrorResponse, []byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, lambdaapi.MaxBufferedResponseBytes+1))
	if err != nil || len(body) > lambdaapi.MaxBufferedResponseBytes {
		return lambdaapi.ErrorResponse{}, nil, false
	}
	var doc errorDoc
	if len(body) > 0 && json.Unmarshal(body, &doc) != nil {
		doc = errorDoc{ErrorMessage: string(body)}
	}
	if t := r.Header.Get(lambdaapi.HeaderFunctionErrorType); t != "" {
		doc.ErrorType = t
	}
	if doc.ErrorType == "" {
		doc.ErrorType = lambdaapi.ErrTypeUnhandled
	}
	payload, _ := json.Marshal(doc)
	return lambdaapi.ErrorResponse{ErrorMessage: doc.ErrorMessage, ErrorType: doc.ErrorType}, payload, true
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (s *Sim) handleRuntimeInitError(w http.ResponseWriter, r *http.Request) {
	er, _, ok := readErrorBody(r)
	if !ok {
		lambdaapi.WriteError(w, http.StatusBadRequest, lambdaapi.ErrTypeInvalidRequestFormat, "error body exceeds the size limit")
		return
	}
	s.mu.Lock()
	if s.state != stateInit || s.rt.firstNext || s.rt.initError {
		s.mu.Unlock()
		lambdaapi.WriteError(w, http.StatusForbidden, lambdaapi.ErrTypeInvalidStateTransition, "init error is only accepted during init")
		return
	}
	s.rt.initError = true
	s.regOpen = false
	if s.initErr == nil {
		s.initErr = &initFailure{status: lambdaapi.StatusError, errorType: er.ErrorType, message: er.ErrorMessage}
	}
	s.hub.emit(time.Now(), lambdaapi.EventInitRuntimeDone, lambdaapi.InitRuntimeDone{
		InitializationType: s.initType(), Phase: s.phaseLocked(), Status: lambdaapi.StatusError, ErrorType: er.ErrorType,
	})
	s.broadcastLocked()
	s.mu.Unlock()
	writeAccepted(w)
}
