# A sieve_before script that files a copy and leaves the implicit keep in place.
require ["fileinto", "copy", "imap4flags"];
fileinto :copy "Audit";
addflag "audited";
