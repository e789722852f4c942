# RFC 5260 §5: currentdate; only tests whose result cannot depend on the day the suite runs.
require ["date", "relational", "fileinto"];
if currentdate :value "ge" "year" "2020" {
  fileinto "Modern";
}
if currentdate :value "lt" "year" "2000" {
  fileinto "Ancient";
}
if currentdate :zone "+0000" :matches "zone" "+0000" {
  fileinto "ZoneUtc";
}
