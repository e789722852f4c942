# RFC 7352: duplicate (first delivery: not a duplicate; the mark is recorded).
require ["duplicate", "fileinto"];
if duplicate {
  discard;
  stop;
}
if duplicate :header "subject" :seconds 3600 {
  fileinto "SameSubject";
}
