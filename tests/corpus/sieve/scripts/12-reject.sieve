# RFC 5429 §2.2: reject.
require "reject";
if header :contains "subject" ["cheap", "SPAM"] {
  reject "Your message was refused by the recipient.";
}
