# RFC 5235 §3.3 spamtestplus :percent and §3.1 virustest.
require ["spamtestplus", "virustest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :percent :value "ge" :comparator "i;ascii-numeric" "50" {
  fileinto "SpamHalf";
}
if virustest :value "ge" :comparator "i;ascii-numeric" "4" {
  discard;
}
if virustest :value "eq" :comparator "i;ascii-numeric" "1" {
  fileinto "VirusClean";
}
