# RFC 5229 §3.2: match variables keep their values when a later match fails.
require ["variables", "fileinto"];
if header :matches "from" "*@*" {
  set "dummy" "x";
}
if header :matches "subject" "NO SUCH SUBJECT *" {
  set "dummy" "y";
}
fileinto "persist-${2}";
if string :matches "${1}" "" {
  fileinto "EmptyOne";
}
