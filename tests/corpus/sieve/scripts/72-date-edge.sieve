# RFC 5260 §4: date parts julian, time, std11; a bad or missing Date header makes the test false.
require ["date", "variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
if date :zone "+0000" :matches "date" "julian" "*" {
  fileinto "julian-${1}";
}
if date :originalzone :matches "date" "time" "*" {
  fileinto "time-${1}";
}
if date :zone "+0530" :matches "date" "std11" "*" {
  fileinto "std11-${1}";
}
if date :value "ge" :comparator "i;ascii-numeric" "resent-date" "year" "2024" {
  fileinto "ResentDate";
}
if not date :matches "date" "year" "*" {
  fileinto "NoUsableDate";
}
