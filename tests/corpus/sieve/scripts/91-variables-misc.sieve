# RFC 5229: variable names are case-insensitive, ${0} is the whole match, malformed references stay
# literal; RFC 5228 §2.4.2.4: ${hex:} takes spaces.
require ["variables", "encoded-character", "fileinto"];
set "Name" "value";
if string :is "${name}" "value" {
  fileinto "CaseInsensitive";
}
if header :matches "subject" "*" {
  set "whole" "${0}";
}
if string :is "${whole}" "${0}" {
  fileinto "ZeroKept";
}
fileinto "lit-${hex: 41 42 }-${hex:41-${doh!}";
