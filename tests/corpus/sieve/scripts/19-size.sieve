# RFC 5228 §5.9: size :over / :under with quantifiers.
require "fileinto";
if size :over 10K {
  fileinto "Large";
} elsif size :under 300 {
  fileinto "Tiny";
}
if size :over 1M {
  discard;
}
