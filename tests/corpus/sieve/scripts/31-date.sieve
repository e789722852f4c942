# RFC 5260 §4: date test on the Date header with :originalzone and date-parts.
require ["date", "relational", "fileinto", "variables"];
if date :originalzone :value "ge" "date" "date" "2024-03-10" {
  fileinto "AfterMarch10";
}
if date :originalzone :is "date" "weekday" "2" {
  fileinto "Tuesday";
}
if date :originalzone :matches "date" "zone" "*" {
  set "zone" "${1}";
}
if date :originalzone :is "date" "year" "2024" {
  fileinto "y2024-${zone}";
}
