package lambdasim

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/lambdaotel/lambdaotel/lambdaapi"
)

// Report is the machine-readable account of a run: what lambdasim run
// --report writes.
type Report struct {
	Invocations []*Result                  `json:"invocations"`
	Shutdown    *ShutdownResult            `json:"shutdown"`
	Telemetry   []lambdaapi.TelemetryEvent `json:"telemetry"`
}

// NewReport assembles a report from a run's results and the Sim's captured
// telemetry.
func (s *Sim) NewReport(results []*Result, shutdown *ShutdownResult) *Report {
	if results == nil {
		results = []*Result{}
	}
	return &Report{Invocations: results, Shutdown: shutdown, Telemetry: s.Telemetry()}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// WriteSummary writes a table of the invocations and the shutdown for a
// person to read.
func WriteSummary(w io.Writer, results []*Result, shutdown *ShutdownResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tstatus\tresponse ms\text. overhead ms\tduration ms\tbilled ms\tmax mem MB\tinit ms\t")
	for i, r := range results {
		init := "-"
		if r.InitDurationMs != nil {
			init = fmt.Sprintf("%.2f", *r.InitDurationMs)
		}
		status := r.Status
		if r.ErrorType != "" {
			status += " (" + r.ErrorType + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.3f\t%.3f\t%.3f\t%d\t%d\t%s\t\n", i+1, status,
			r.ResponseLatencyMs, r.ExtensionOverheadMs, r.DurationMs, r.BilledDurationMs, r.MaxMemoryUsedMB, init)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	for i, r := range results {
		if r.Status == lambdaapi.StatusSuccess {
			continue
		}
		var doc lambdaapi.ErrorResponse
		_ = json.Unmarshal(r.Payload, &doc)
		fmt.Fprintf(w, "invocation %d (%s) %s: %s %s\n", i+1, r.RequestID, r.Status, r.ErrorType, doc.ErrorMessage)
		if r.Reset != nil {
			fmt.Fprintf(w, "  the environment was reset (%s) and re-initialises on the next invocation\n", r.Reset.Reason)
		}
	}
	if shutdown == nil {
		return nil
	}
	fmt.Fprintf(w, "shutdown (%s) took %.1f ms; runtime SIGTERM: %v\n", shutdown.Reason, shutdown.DurationMs, shutdown.RuntimeSigterm)
	for _, e := range shutdown.Extensions {
		how := fmt.Sprintf("exited %d", e.ExitCode)
		if e.Killed {
			how = "did not exit within the SHUTDOWN deadline and was KILLED"
		}
		fmt.Fprintf(w, "  extension %s: %s\n", e.Name, how)
	}
	return nil
}

// Failed reports whether a run should exit non-zero: an invocation did not
// succeed, or an extension had to be killed.
func Failed(results []*Result, shutdown *ShutdownResult) bool {
	for _, r := range results {
		if r.Status != lambdaapi.StatusSuccess {
			return true
		}
	}
	if shutdown != nil {
		for _, e := range shutdown.Extensions {
			if e.Killed {
				return true
			}
		}
	}
	return false
}
