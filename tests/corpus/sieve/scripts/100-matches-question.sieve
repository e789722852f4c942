# RFC 5228 §2.7.1: each "?" matches exactly one character (one octet with i;ascii-casemap).
require ["variables", "fileinto"];
if header :matches "subject" "L??nch *" {
  fileinto "TwoBeforeNch";
}
if header :matches "subject" "L?nch *" {
  fileinto "one-${1}";
}
if header :matches "subject" "Lu??h tomorrow?" {
  fileinto "two-${1}${2}";
}
if header :matches "subject" "?????? *" {
  fileinto "six-${7}";
}
