# RFC 5231 §4.2: :value with the default comparator (i;ascii-casemap, lexical).
require ["relational", "fileinto"];
if header :value "lt" "subject" "M" {
  fileinto "AtoL";
}
if address :value "gt" :domain "from" "example.m" {
  fileinto "DomainAfterM";
}
if header :value "eq" "x-priority" "5" {
  fileinto "PriorityFive";
}
