# A sieve_before script that stops: "stop" ends this script only; the next one still runs.
require ["fileinto", "copy"];
fileinto :copy "Audit";
stop;
