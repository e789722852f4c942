# RFC 4790 §9.2: i;ascii-casemap folds ASCII letters only; ü and Ü stay different.
require "fileinto";
if header :contains "subject" "GRÖSSE" {
  fileinto "FoldedNonAscii";
}
if header :contains "subject" "GRÖ" {
  fileinto "Never";
}
if header :contains "subject" "MÜNCHEN" {
  fileinto "MuenchenUpper";
}
if header :contains "subject" "mÜnchen" {
  fileinto "MuenchenMixed";
}
if header :contains :comparator "i;octet" "subject" "München" {
  fileinto "OctetUmlaut";
}
