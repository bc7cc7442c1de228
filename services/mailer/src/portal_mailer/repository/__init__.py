"""The mailer's SQL (schema `mailer`): `sent_mails`, the record of mails sent, claimed in
the transaction that sends them."""
