package lambdasim

import (
	"encoding/base64"
	"io"
	"net/http"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// InvokePath is where InvokeHandler takes invocations, as AWS's runtime
// interface emulator does, so the same curl command works against both.
const InvokePath = "/2015-03-31/functions/function/invocations"

// maxInvokePayload is Lambda's limit for a synchronous invocation's payload.
const maxInvokePayload = 6 << 20

// InvokeHandler serves POST InvokePath: the body is the event, the answer is
// the function's response, sent as soon as the runtime posts it (extensions
// may still be running, as in Lambda). A function error is answered with
// status 200 and X-Amz-Function-Error, as Lambda's Invoke API does.
// If results is not nil, every finished invocation's Result is sent to it.
func (s *Sim) InvokeHandler(results chan<- *Result) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+InvokePath, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxInvokePayload+1))
		if err != nil {
			lambdaapi.WriteError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
			return
		}
		if len(body) > maxInvokePayload {
			lambdaapi.WriteError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "the request payload exceeds 6 MB")
			return
		}
		req := Request{Payload: body, TraceHeader: r.Header.Get("X-Amzn-Trace-Id")}
		if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
			if dec, err := base64.StdEncoding.DecodeString(cc); err == nil {
				req.ClientContext = string(dec)
			}
		}
		p, err := s.InvokeAsync(r.Context(), req)
		if err != nil {
			lambdaapi.WriteError(w, http.StatusServiceUnavailable, "ServiceException", err.Error())
			return
		}
		go func() {
			res, err := p.Wait(s.baseCtx)
			if err == nil && results != nil {
				results <- res
			}
		}()
		status, payload, err := p.Response(r.Context())
		if err != nil {
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Amz-Request-Id", p.RequestID())
		h.Set("X-Amz-Executed-Version", s.cfg.FunctionVersion)
		if status != lambdaapi.StatusSuccess {
			h.Set("X-Amz-Function-Error", "Unhandled")
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
	})
	return mux
}
