# RFC 5228 §5.9: :over and :under are strict comparisons of the size in octets.
require "fileinto";
if size :over 337 {
  fileinto "Over337";
}
if size :under 338 {
  fileinto "Under338";
}
if not anyof (size :over 338, size :under 338) {
  fileinto "Exactly338";
}
