-- Throttling without lock-outs: past a few failures per account, customer number or
-- device, attempts carry a solved proof-of-work challenge instead of waiting.
-- ("account:" rows of login_failures no longer use locked_until; "ip:" rows still do.)

-- Solved challenges work once: each is kept until it expires, and refused again meanwhile.
CREATE TABLE used_challenges (
    challenge  text PRIMARY KEY,               -- SHA-256 hex of salt + number
    expires_at timestamptz NOT NULL
);
CREATE INDEX used_challenges_expiry_idx ON used_challenges (expires_at);

-- When an account's owner was last told that someone is guessing the password.
CREATE TABLE attack_notices (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    notified_at timestamptz NOT NULL
);
