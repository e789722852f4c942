# RFC 5228 §5.2, §5.3, §5.8: allof, anyof, not (and their nesting).
require "fileinto";
if allof (address :domain :is "from" "example.com", not header :contains "subject" "order") {
  fileinto "ComNotOrder";
}
if anyof (header :contains "subject" "report", exists "auto-submitted", false) {
  fileinto "ReportOrAuto";
}
if not anyof (exists "list-id", allof (true, header :is "x-priority" "5")) {
  fileinto "NotListNotBulk";
}
if allof (true, anyof (false, not false)) {
  fileinto "NestedTrue";
}
