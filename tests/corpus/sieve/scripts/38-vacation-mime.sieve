# RFC 5230 §4.6: :mime reason is a MIME entity.
require "vacation";
vacation :mime :days 1 text:
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Ich bin im Urlaub. Viele Grüße!
.
;
