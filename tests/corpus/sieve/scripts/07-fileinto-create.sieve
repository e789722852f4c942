# RFC 5490 §3.2: fileinto :create.
require ["fileinto", "mailbox"];
if address :is :localpart "from" "shop" {
  fileinto :create "Shopping";
} else {
  fileinto :create "Lists";
}
