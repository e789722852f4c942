# RFC 5228 §2.7.1 with RFC 4790: "?" matches one character, also a multi-byte UTF-8 one.
require ["variables", "fileinto"];
if header :matches "subject" "Gr??e *" {
  fileinto "q-${3}";
}
if header :matches "subject" "R?sum? *" {
  fileinto "resume-${3}";
}
if header :contains :comparator "i;octet" "from" "Müller" {
  fileinto "OctetMueller";
}
