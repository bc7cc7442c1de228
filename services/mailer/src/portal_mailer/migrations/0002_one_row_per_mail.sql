-- One row per mail instead of per event: the contact form's event leads to two mails
-- (to support, and a receipt to the sender), and a retry after the first went out must
-- send only the second. `template` names the mail; existing rows keep theirs.

ALTER TABLE processed_events DROP CONSTRAINT processed_events_pkey;
ALTER TABLE processed_events ADD PRIMARY KEY (event_id, template);
