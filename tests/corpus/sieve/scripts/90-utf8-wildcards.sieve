# RFC 5228 §2.7.1 with RFC 4790: with i;ascii-casemap "?" matches one octet, so a multi-byte UTF-8 character needs one "?" per octet.
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
