# RFC 5228 §2.10.3: the same fileinto twice is done once; fileinto "INBOX" and keep are the same delivery.
require "fileinto";
fileinto "Dup";
fileinto "Dup";
fileinto "INBOX";
keep;
