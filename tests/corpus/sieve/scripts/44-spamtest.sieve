# RFC 5235 §3.2: spamtest (Pigeonhole reads the score from X-Spam-Score, see the test harness).
require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "6" {
  fileinto "Junk";
} elsif spamtest :value "eq" :comparator "i;ascii-numeric" "0" {
  fileinto "Untested";
} elsif spamtest :value "eq" :comparator "i;ascii-numeric" "1" {
  fileinto "Clean";
}
