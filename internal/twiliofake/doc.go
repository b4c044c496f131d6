// Package twiliofake is a small, in-process fake of the parts of the Twilio
// REST API (version 2010-04-01) that Tawasul uses: sending messages, looking
// them up, listing them, and placing outbound calls. It also plays Twilio's
// side of webhooks: it signs and POSTs message status callbacks and can
// simulate inbound SMS/WhatsApp messages and calls.
//
// The fake serves two purposes:
//
//   - Tests of the real application. The application keeps using the real
//     twilio-go client; only the client's http.Transport is changed so that
//     requests for https://api.twilio.com reach the fake (twilio-go has no
//     base-URL setting). Tests then inspect what was sent (Messages, Calls),
//     inject failures (SetFault) and drive delivery reports (Deliver).
//   - The "simulator mode" of `tawasul serve` when no Twilio account is
//     configured. The server is mounted into the application (ServeHTTP) or
//     started on a loopback port (Start) with Options.AutoCallbacks set, so
//     every accepted message walks through queued → sent → delivered and the
//     application receives the same signed callbacks it would get from Twilio.
//
// # Fidelity
//
// Success bodies follow the schemas of Twilio's OpenAPI description
// (twilio-oai, api_v2010): every property of api.v2010.account.message and
// api.v2010.account.call is present, SIDs have the right prefixes and 32 hex
// digits, dates use RFC 2822 in GMT ("Thu, 27 Nov 2026 10:52:21 +0000") and
// num_segments/num_media are strings. The package tests validate every 2xx
// response against the vendored spec with kin-openapi.
//
// Error bodies use Twilio's legacy error shape
// {"code","message","more_info","status"}, which twilio-go decodes into
// *client.TwilioRestError. Validation failures use Twilio's error codes:
// 21604 (no To), 21211 (malformed To), 21603 (no From and no
// MessagingServiceSid), 21602 (no Body, MediaUrl or ContentSid), 21617 (Body
// over 1600 characters), 21201/21213 (call without To/From), 20003 (bad
// credentials), 20404 (unknown resource or account), 20004 (method). A few
// cases Twilio documents poorly use the fake's best guess: 21701 for a
// malformed MessagingServiceSid, 21205 for a call without Url/Twiml, and
// 20001 for malformed list parameters.
//
// Webhook signatures are computed exactly as Twilio does (see Sign), so the
// application's production signature check (twilio-go's RequestValidator)
// accepts them unchanged.
//
// What the fake does not do: it never contacts carriers, never assigns a
// sender from a Messaging Service pool, does not simulate calls beyond
// recording them, ignores parameters it does not understand (like Twilio, it
// does not reject them), does not implement SmartEncoded character
// replacement, and keeps everything in memory.
//
// # Concurrency
//
// A Server is safe for concurrent use by multiple goroutines. Accessors
// (Messages, Calls, ...) return copies.
package twiliofake
