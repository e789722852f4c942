# RFC 5228 §2.4.2.4: encoded-character.
require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex:4C 75 6E 63 68}" {
  fileinto "${unicode:48 65 78}";
}
if header :contains "from" "J${unicode:F6}rg" {
  fileinto "Jo${hex:cc 88}rg";
}
if header :contains "subject" "${hex:zz}" {
  fileinto "LiteralBadHex";
}
