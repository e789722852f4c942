# RFC 5228 §2.7.3: i;octet is case-sensitive, i;ascii-casemap is not.
require "fileinto";
if header :is :comparator "i;octet" "subject" "Lunch tomorrow?" {
  fileinto "OctetExact";
}
if header :is :comparator "i;octet" "subject" "lunch tomorrow?" {
  fileinto "OctetLower";
}
if header :is :comparator "i;ascii-casemap" "subject" "LUNCH TOMORROW?" {
  fileinto "Casemap";
}
if header :contains :comparator "i;octet" "from" "EXAMPLE" {
  fileinto "OctetUpperFrom";
}
