# RFC 4790 §9.1 i;ascii-numeric with RFC 5231 :value; non-numbers compare as positive infinity.
require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "5" {
  fileinto "Junk";
}
if header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3" {
  fileinto "HighPriority";
}
if header :is :comparator "i;ascii-numeric" "x-virus-score" "000" {
  fileinto "VirusZero";
}
if header :value "gt" :comparator "i;ascii-numeric" "subject" "100" {
  fileinto "SubjectInfinity";
}
