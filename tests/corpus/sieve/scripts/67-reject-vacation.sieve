# RFC 5429 §2.1 / RFC 5230 §4.7: reject is incompatible with vacation.
require ["reject", "vacation"];
vacation "Away.";
if header :contains "subject" ["cheap", "Credentials"] {
  reject "No.";
}
