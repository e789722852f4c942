# RFC 5229 §3.2: :matches wildcards fill ${1}..; ${0} is the whole match.
require ["variables", "fileinto"];
if address :matches :domain "from" "*.*" {
  fileinto "from-${1}";
}
if header :matches "subject" "*order ?*" {
  set "ord" "${2}";
  fileinto "order-${ord}";
}
if header :matches "subject" "[*] *" {
  fileinto "tag-${1}";
}
if header :matches "subject" "\\[*\\]*" {
  fileinto "bracket-${1}";
}
