package twiliofake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// specHost stands in for the fake's URL in the spec's servers list. The
// fake's port differs per test, so recorded requests are re-addressed to
// this host before routing; the spec is loaded only once per test binary.
const specHost = "twilio.fake.test"

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// twilioFormats validates the custom string formats twilio-oai uses;
// kin-openapi ignores formats it does not know, which would let a malformed
// date or phone number through.
func twilioFormats() map[string]openapi3.StringFormatValidator {
	phone := regexp.MustCompile(`^(?:[a-z]+:)?\+?[0-9]{3,15}$|^[A-Za-z0-9 \-]{1,11}$`)
	currency := regexp.MustCompile(`^[A-Za-z]{3}$`)
	return map[string]openapi3.StringFormatValidator{
		"date-time-rfc-2822": openapi3.NewCallbackValidator(func(v string) error {
			t, err := time.Parse(time.RFC1123Z, v)
			if err != nil {
				return err
			}
			if t.Format(time.RFC1123Z) != v || !strings.HasSuffix(v, " +0000") {
				return fmt.Errorf("%q is not a canonical RFC 2822 GMT date", v)
			}
			return nil
		}),
		"phone-number": openapi3.NewCallbackValidator(func(v string) error {
			if !phone.MatchString(v) {
				return fmt.Errorf("%q is not a phone number, channel address or sender ID", v)
			}
			return nil
		}),
		"currency": openapi3.NewCallbackValidator(func(v string) error {
			if !currency.MatchString(v) {
				return fmt.Errorf("%q is not an ISO 4217 code", v)
			}
			return nil
		}),
		"uri": openapi3.NewCallbackValidator(func(v string) error {
			u, err := url.Parse(v)
			if err != nil {
				return err
			}
			if !u.IsAbs() && !strings.HasPrefix(v, "/") {
				return fmt.Errorf("%q is neither absolute nor rooted", v)
			}
			return nil
		}),
	}
}

func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromFile("testdata/twilio_api_v2010.json")
		if err != nil {
			specErr = err
			return
		}
		// No doc.Validate(): the spec's own examples fail it.
		doc.Servers = openapi3.Servers{{URL: "http://" + specHost}}
		for _, item := range doc.Paths.Map() {
			item.Servers = nil
			for _, op := range item.Operations() {
				op.Servers = nil
			}
		}
		doc.SetStringFormatValidators(twilioFormats())
		specRouter, specErr = gorillamux.NewRouter(doc)
		specDoc = doc
	})
	if specErr != nil {
		t.Fatalf("load spec: %v", specErr)
	}
	return specDoc, specRouter
}

// exchange is one recorded request/response pair.
type exchange struct {
	method     string
	url        *url.URL
	reqHeader  http.Header
	reqBody    []byte
	status     int
	respHeader http.Header
	respBody   []byte
}

// recorder is an http.RoundTripper that keeps a copy of every exchange.
type recorder struct {
	mu        sync.Mutex
	exchanges []exchange
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var reqBody []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		reqBody = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	u := *r.URL
	rec.mu.Lock()
	rec.exchanges = append(rec.exchanges, exchange{r.Method, &u, r.Header.Clone(), reqBody, resp.StatusCode, resp.Header.Clone(), respBody})
	rec.mu.Unlock()
	return resp, nil
}

func (rec *recorder) all() []exchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.exchanges)
}

func specOptions(doc *openapi3.T) *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus:   true, // 200 vs 201 must be the documented one
		MultiError:              true,
		SchemaValidationOptions: doc.GetSchemaValidationOptions(),
	}
}

// validateExchange validates ex's request and response against the spec and
// returns the matched route.
func validateExchange(t *testing.T, ex exchange, respBody []byte) (*routers.Route, error) {
	t.Helper()
	doc, router := loadSpec(t)
	u := *ex.url
	u.Scheme, u.Host = "http", specHost
	req, err := http.NewRequest(ex.method, u.String(), bytes.NewReader(ex.reqBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = ex.reqHeader.Clone()
	route, pathParams, err := router.FindRoute(req)
	if err != nil {
		return nil, fmt.Errorf("no route for %s %s: %w", ex.method, ex.url.Path, err)
	}
	opts := specOptions(doc)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: opts}
	ctx := context.Background()
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return route, fmt.Errorf("request %s %s: %w", ex.method, ex.url, err)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 ex.status,
		Header:                 ex.respHeader,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return route, fmt.Errorf("response to %s %s: %w", ex.method, ex.url, err)
	}
	return route, nil
}

// missingProperties lists the schema properties absent from value,
// recursively through objects and arrays. The fake promises to send every
// property (null when unknown), as Twilio does.
func missingProperties(schema *openapi3.Schema, value any, path string) []string {
	var missing []string
	switch v := value.(type) {
	case map[string]any:
		for name, prop := range schema.Properties {
			pv, ok := v[name]
			if !ok {
				missing = append(missing, path+"."+name)
				continue
			}
			if prop.Value != nil {
				missing = append(missing, missingProperties(prop.Value, pv, path+"."+name)...)
			}
		}
	case []any:
		if schema.Items != nil && schema.Items.Value != nil {
			for i, item := range v {
				missing = append(missing, missingProperties(schema.Items.Value, item, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return missing
}

func responseSchema(route *routers.Route, status int) *openapi3.Schema {
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return nil
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// TestResponsesMatchSpec drives every route through the real twilio-go client
// and validates each 2xx exchange (request and response) with kin-openapi
// against the vendored twilio-oai spec.
func TestResponsesMatchSpec(t *testing.T) {
	rec := &recorder{}
	_, base := newTestServer(t)
	tw := newTwilio(t, base, func(c *clientConfig) { c.next = rec })

	start := time.Now().Add(-time.Minute)
	sms := (&api.CreateMessageParams{}).SetTo(testTo).SetFrom(testFrom).SetBody("مرحبا <&> بكم").
		SetStatusCallback("https://app.example/twilio/sms/status")
	m, err := tw.Api.CreateMessage(sms)
	if err != nil {
		t.Fatal(err)
	}
	viaService := (&api.CreateMessageParams{}).SetTo(testTo).SetMessagingServiceSid(NewSID("MG")).SetBody("x")
	if _, err := tw.Api.CreateMessage(viaService); err != nil {
		t.Fatal(err)
	}
	mms := (&api.CreateMessageParams{}).SetTo("whatsapp:" + testTo).SetFrom("whatsapp:" + testFrom).
		SetMediaUrl([]string{"https://example.com/a.jpg", "https://example.com/b.jpg"})
	if _, err := tw.Api.CreateMessage(mms); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Api.FetchMessage(deref(m.Sid), nil); err != nil {
		t.Fatal(err)
	}
	list, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetTo(testTo).SetFrom(testFrom).
		SetDateSentAfter(start).SetPageSize(1))
	if err != nil || len(list) != 1 {
		t.Fatalf("ListMessage = %d, %v", len(list), err)
	}
	if all, err := tw.Api.ListMessage((&api.ListMessageParams{}).SetPageSize(1)); err != nil || len(all) != 3 {
		t.Fatalf("paged ListMessage = %d, %v", len(all), err)
	}
	c, err := tw.Api.CreateCall((&api.CreateCallParams{}).SetTo(testTo).SetFrom(testFrom).SetUrl("https://app.example/voice"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Api.FetchCall(deref(c.Sid), nil); err != nil {
		t.Fatal(err)
	}

	exchanges := rec.all()
	covered := map[string]int{}
	for _, ex := range exchanges {
		if ex.status < 200 || ex.status > 299 {
			t.Errorf("%s %s answered %d: %s", ex.method, ex.url, ex.status, ex.respBody)
			continue
		}
		route, err := validateExchange(t, ex, ex.respBody)
		if err != nil {
			t.Errorf("spec violation: %v\nbody: %s", err, ex.respBody)
			continue
		}
		covered[route.Operation.OperationID]++

		var body any
		if err := json.Unmarshal(ex.respBody, &body); err != nil {
			t.Fatalf("response is not JSON: %v", err)
		}
		if missing := missingProperties(responseSchema(route, ex.status), body, "$"); len(missing) > 0 {
			slices.Sort(missing)
			t.Errorf("%s: properties missing from the body: %v", route.Operation.OperationID, missing)
		}
	}
	t.Logf("validated exchanges per operation: %v", covered)
	for _, op := range []string{"CreateMessage", "FetchMessage", "ListMessage", "CreateCall", "FetchCall"} {
		if covered[op] == 0 {
			t.Errorf("operation %s was not exercised (covered: %v)", op, covered)
		}
	}
	if covered["ListMessage"] < 4 {
		t.Errorf("paging was not exercised: %d ListMessage pages", covered["ListMessage"])
	}
}

// The validation above must be able to fail: a response that breaks the
// schema in typical ways is rejected.
func TestSpecValidationCatchesBrokenBodies(t *testing.T) {
	loadSpec(t)
	rec := &recorder{}
	_, base := newTestServer(t)
	tw := newTwilio(t, base, func(c *clientConfig) { c.next = rec })
	if _, err := tw.Api.CreateMessage((&api.CreateMessageParams{}).SetTo(testTo).SetFrom(testFrom).SetBody("x")); err != nil {
		t.Fatal(err)
	}
	ex := rec.all()[0]
	if _, err := validateExchange(t, ex, ex.respBody); err != nil {
		t.Fatalf("the genuine response must validate: %v", err)
	}

	mutations := map[string]func(map[string]any){
		"num_segments as number": func(m map[string]any) { m["num_segments"] = 1 },
		"ISO date":               func(m map[string]any) { m["date_created"] = "2026-11-27T10:52:21Z" },
		"short sid":              func(m map[string]any) { m["sid"] = "SM123" },
		"unknown status":         func(m map[string]any) { m["status"] = "pending" },
		"bad account sid":        func(m map[string]any) { m["account_sid"] = "XX0123456789abcdef0123456789abcdef" },
		"bad service sid":        func(m map[string]any) { m["messaging_service_sid"] = "MG1" },
	}
	for name, mutate := range mutations {
		var body map[string]any
		if err := json.Unmarshal(ex.respBody, &body); err != nil {
			t.Fatal(err)
		}
		mutate(body)
		broken, _ := json.Marshal(body)
		if _, err := validateExchange(t, ex, broken); err == nil {
			t.Errorf("%s: validation accepted a broken body", name)
		}
	}

	var body map[string]any
	_ = json.Unmarshal(ex.respBody, &body)
	delete(body, "price")
	doc, _ := loadSpec(t)
	if missing := missingProperties(doc.Components.Schemas["api.v2010.account.message"].Value, body, "$"); !slices.Equal(missing, []string{"$.price"}) {
		t.Errorf("missingProperties = %v, want [$.price]", missing)
	}

	// Request validation is live too: a malformed DateSent> filter and a
	// create without To are rejected.
	listEx := exchange{
		method: http.MethodGet, url: mustParseURL(t, base+"/2010-04-01/Accounts/"+testAccountSID+"/Messages.json?DateSent%3E=yesterday"),
		reqHeader: http.Header{}, status: http.StatusOK, respHeader: http.Header{"Content-Type": {"application/json"}},
	}
	if _, err := validateExchange(t, listEx, []byte(`{"messages":[]}`)); err == nil || !strings.Contains(err.Error(), "DateSent>") {
		t.Errorf("malformed DateSent> filter: err = %v", err)
	}
	noTo := ex
	noTo.reqBody = []byte(url.Values{"From": {testFrom}, "Body": {"x"}}.Encode())
	if _, err := validateExchange(t, noTo, ex.respBody); err == nil {
		t.Error("a create request without To validated")
	}

	// Error bodies are not in the spec (twilio.md §0.6): a 400 fails with
	// IncludeResponseStatus, so the status check is live.
	bad := ex
	bad.status = http.StatusBadRequest
	if _, err := validateExchange(t, bad, []byte(`{"code":21610,"message":"x","more_info":"y","status":400}`)); err == nil {
		t.Error("an undocumented 400 validated")
	}
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
