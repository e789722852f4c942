# RFC 5229 §3.2: how wildcards split a string ("*" captures, "?" single characters).
require ["variables", "fileinto"];
if header :matches "subject" "*e*e*" {
  fileinto "e-[${1}][${2}][${3}]";
}
if address :matches :all "from" "*@*" {
  fileinto "at-[${1}][${2}]";
}
if header :matches "message-id" "<*-?*@*>" {
  fileinto "mid-[${1}][${2}][${3}][${4}]";
}
