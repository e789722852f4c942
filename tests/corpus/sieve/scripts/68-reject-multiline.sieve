# RFC 5429 §2.2 with a multi-line text: reason and dot-stuffing (RFC 5228 §2.4.2).
require "reject";
if size :under 300 {
  reject text:
Your message was refused.
..leading dot kept as one dot
.
;
}
