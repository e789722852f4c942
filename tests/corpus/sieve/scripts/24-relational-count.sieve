# RFC 5231 §4.1: :count counts addresses/headers.
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "4" {
  fileinto "ManyRecipients";
}
if header :count "eq" :comparator "i;ascii-numeric" "x-tag" "2" {
  fileinto "TwoTags";
}
if header :count "eq" :comparator "i;ascii-numeric" "x-missing" "0" {
  fileinto "ZeroMissing";
}
