-- Proof of ownership beyond the invoice (issue 9): customer number and last name are
-- printed on every invoice, so the master data may also hold the customer's address and
-- a code sent by letter, and an attacker's later registration no longer voids the
-- owner's pending one.

ALTER TABLE customers
    ADD COLUMN email                  text,  -- the address on file, as delivered; NULL: none
    ADD COLUMN email_key              text,  -- its look-up key (domain.email.key)
    ADD COLUMN registration_code_hash text;  -- argon2id of the code sent by letter; NULL: none

-- Pending registrations of one customer number wait side by side until one of them is
-- activated (that one removes the others); at most one account per customer number is
-- active. An address still holds at most one account (accounts_email_key_uniq).
DROP INDEX accounts_customer_number_uniq;
CREATE UNIQUE INDEX accounts_active_customer_number_uniq ON accounts (customer_number)
    WHERE status = 'active';
CREATE INDEX accounts_customer_number_idx ON accounts (customer_number);

-- Whether the registration proved the code on file: a code imported while a
-- registration was pending must still be proved before that one can be activated.
ALTER TABLE accounts ADD COLUMN registered_with_code boolean NOT NULL DEFAULT false;
