# RFC 5429 §2.1: ereject (Debian's Pigeonhole is built without it; expected results are in the test).
require "ereject";
if header :contains "subject" "cheap" {
  ereject "No thanks.";
}
