# RFC 7352 §3: :uniqueid, :handle, :last; the tracking key is recorded once per distinct test.
require ["duplicate", "variables", "fileinto"];
if header :matches "message-id" "*" {
  set "mid" "${1}";
}
if duplicate :uniqueid "${mid}" :handle "byid" :seconds 60 {
  discard;
}
if duplicate :last :header "from" {
  fileinto "SeenSender";
}
if duplicate :uniqueid "" {
  fileinto "EmptyId";
}
