package otlpjson

import (
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/lambdaotel/lambdaotel/internal/pbwire"
)

// generated maps each schema message to its generated type.
var generated = [numMessages]proto.Message{
	mTracesData:                    &tracepb.TracesData{},
	mResourceSpans:                 &tracepb.ResourceSpans{},
	mScopeSpans:                    &tracepb.ScopeSpans{},
	mSpan:                          &tracepb.Span{},
	mEvent:                         &tracepb.Span_Event{},
	mLink:                          &tracepb.Span_Link{},
	mStatus:                        &tracepb.Status{},
	mMetricsData:                   &metricspb.MetricsData{},
	mResourceMetrics:               &metricspb.ResourceMetrics{},
	mScopeMetrics:                  &metricspb.ScopeMetrics{},
	mMetric:                        &metricspb.Metric{},
	mGauge:                         &metricspb.Gauge{},
	mSum:                           &metricspb.Sum{},
	mHistogram:                     &metricspb.Histogram{},
	mExponentialHistogram:          &metricspb.ExponentialHistogram{},
	mSummary:                       &metricspb.Summary{},
	mNumberDataPoint:               &metricspb.NumberDataPoint{},
	mHistogramDataPoint:            &metricspb.HistogramDataPoint{},
	mExponentialHistogramDataPoint: &metricspb.ExponentialHistogramDataPoint{},
	mBuckets:                       &metricspb.ExponentialHistogramDataPoint_Buckets{},
	mSummaryDataPoint:              &metricspb.SummaryDataPoint{},
	mValueAtQuantile:               &metricspb.SummaryDataPoint_ValueAtQuantile{},
	mExemplar:                      &metricspb.Exemplar{},
	mLogsData:                      &logspb.LogsData{},
	mResourceLogs:                  &logspb.ResourceLogs{},
	mScopeLogs:                     &logspb.ScopeLogs{},
	mLogRecord:                     &logspb.LogRecord{},
	mResource:                      &resourcepb.Resource{},
	mEntityRef:                     &commonpb.EntityRef{},
	mInstrumentationScope:          &commonpb.InstrumentationScope{},
	mKeyValue:                      &commonpb.KeyValue{},
	mAnyValue:                      &commonpb.AnyValue{},
	mArrayValue:                    &commonpb.ArrayValue{},
	mKeyValueList:                  &commonpb.KeyValueList{},
}

// kinds maps protobuf kinds to schema kinds (IDs aside).
var kinds = map[protoreflect.Kind]kind{
	protoreflect.MessageKind:  kindMessage,
	protoreflect.StringKind:   kindString,
	protoreflect.BytesKind:    kindBytes,
	protoreflect.BoolKind:     kindBool,
	protoreflect.Int32Kind:    kindInt32,
	protoreflect.EnumKind:     kindEnum,
	protoreflect.Uint32Kind:   kindUint32,
	protoreflect.Sint32Kind:   kindSint32,
	protoreflect.Int64Kind:    kindInt64,
	protoreflect.Uint64Kind:   kindUint64,
	protoreflect.Fixed32Kind:  kindFixed32,
	protoreflect.Fixed64Kind:  kindFixed64,
	protoreflect.Sfixed64Kind: kindSfixed64,
	protoreflect.DoubleKind:   kindDouble,
}

// TestSchemaMatchesDescriptors checks the hand-written schema against the
// descriptors of the generated types, field by field: a field missing,
// misnumbered or mistyped in schema.go fails here, not in production.
func TestSchemaMatchesDescriptors(t *testing.T) {
	prepareSchema()
	byDesc := map[protoreflect.FullName]msgID{}
	for id, m := range generated {
		if m == nil {
			t.Fatalf("no generated type for %s", messages[id].name)
		}
		byDesc[m.ProtoReflect().Descriptor().FullName()] = msgID(id)
	}
	for id := range messages {
		m := &messages[id]
		desc := generated[id].ProtoReflect().Descriptor()
		if got, want := m.name, string(desc.FullName()); !strings.HasSuffix(want, "."+got) {
			t.Errorf("message %s is %s", got, want)
		}
		fds := desc.Fields()
		if len(m.fields) != fds.Len() {
			t.Errorf("%s: %d fields in the schema, %d in %s", m.name, len(m.fields), fds.Len(), desc.FullName())
		}
		for i := range fds.Len() {
			fd := fds.Get(i)
			_, f := m.field(pbwire.Number(fd.Number()))
			if f == nil {
				t.Errorf("%s: field %s (%d) missing", m.name, fd.Name(), fd.Number())
				continue
			}
			where := m.name + "." + f.snake
			if f.snake != string(fd.Name()) || f.name != fd.JSONName() {
				t.Errorf("%s: named %s/%s, want %s/%s", where, f.snake, f.name, fd.Name(), fd.JSONName())
			}
			wantKind, ok := kinds[fd.Kind()]
			if !ok {
				t.Errorf("%s: kind %v not supported", where, fd.Kind())
			}
			if fd.Kind() == protoreflect.BytesKind && idKeys[fd.JSONName()] {
				wantKind = kindID
				if want := map[string]int{"traceId": 16, "spanId": 8, "parentSpanId": 8}[fd.JSONName()]; f.size != want {
					t.Errorf("%s: ID size %d, want %d", where, f.size, want)
				}
			}
			if f.kind != wantKind {
				t.Errorf("%s: kind %d, want %d (%v)", where, f.kind, wantKind, fd.Kind())
			}
			if got, want := f.flags&repeated != 0, fd.IsList(); got != want {
				t.Errorf("%s: repeated %v, want %v", where, got, want)
			}
			if fd.IsList() && f.kind.packable() != fd.IsPacked() {
				t.Errorf("%s: packed %v, want %v", where, f.kind.packable(), fd.IsPacked())
			}
			realOneof := fd.ContainingOneof() != nil && !fd.ContainingOneof().IsSynthetic()
			if got := f.flags&oneof != 0; got != realOneof {
				t.Errorf("%s: oneof %v, want %v", where, got, realOneof)
			}
			if fd.Kind() != protoreflect.MessageKind && !fd.IsList() {
				if got := f.flags&presence != 0; got != fd.HasPresence() {
					t.Errorf("%s: presence %v, want %v", where, got, fd.HasPresence())
				}
			}
			if fd.Kind() == protoreflect.MessageKind {
				if want, ok := byDesc[fd.Message().FullName()]; !ok || f.msg != want {
					t.Errorf("%s: message %s, want %s", where, messages[f.msg].name, fd.Message().FullName())
				}
			}
			if fd.Kind() == protoreflect.EnumKind {
				vals := fd.Enum().Values()
				names := enumNames[f.enum]
				if len(names) != vals.Len() {
					t.Errorf("%s: %d enum names, want %d", where, len(names), vals.Len())
				}
				for j := range vals.Len() {
					v := vals.Get(j)
					if n := int(v.Number()); n >= len(names) || names[n] != string(v.Name()) {
						t.Errorf("%s: enum value %d should be %s", where, v.Number(), v.Name())
					}
				}
			}
		}
	}
}
