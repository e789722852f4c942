# RFC 5228 §5.4: envelope from/to with address parts.
require ["envelope", "fileinto"];
if envelope :is :all "from" "alice@example.com" {
  fileinto "FromAlice";
}
if envelope :is :domain "from" "lists.example.org" {
  fileinto "ListEnvelope";
}
if envelope :matches :localpart "from" "*-bounces" {
  fileinto "Bounces";
}
if not envelope :is :localpart "to" "bob" {
  fileinto "NotBob";
}
