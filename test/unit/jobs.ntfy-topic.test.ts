/** ntfy topic rules: public topics must be long and random; what the refusal suggests is always accepted. */
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ntfyTopicProblem } from '../../src/domain/jobs/ntfy-topic.js';

describe('ntfy topics', () => {
  it.each([
    ['gateway', /well-known/],
    ['Gateway', /well-known/],
    ['moat', /well-known/],
    ['alerts', /well-known/],
    ['a1B2c3', /shorter/],
    ['Xk3mP9qL2vN8', /shorter/],
    ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', /repeats/],
    ['deadbeefdeadbeefdeadbeefdeadbeef', /repeats/],
    ['myhomeserveralertsforthedayz', /does not look random/],
    ['homelab2024notificationsx', /does not look random/],
    ['MyHomeServerAlertsForTheDay', /does not look random/],
    ['0123456789abcdef0123', /shorter/],
    ['topic/with/slashes/in/it/xyz', /may only hold/],
    ['topic with spaces and more words', /may only hold/],
    ['../../../../etc/passwd/aaaaaaaaa', /may only hold/],
  ])('refuses %j', (topic, why) => {
    expect(ntfyTopicProblem(topic)).toMatch(why);
  });

  it.each(['Xk3mP9qL2vN8wR5tY7uZ1aB4', 'f3a9c2e7b1d84a6f9e0c5b2a7d3f1e8c', 'F3A9C2E7B1D84A6F9E0C5B2A', '550e8400-e29b-41d4-a716-446655440000'])(
    'accepts %j',
    (topic) => {
      expect(ntfyTopicProblem(topic)).toBeNull();
    },
  );

  it('accepts every topic made as the refusal suggests (openssl rand -hex 16), and UUIDs', () => {
    for (let i = 0; i < 20_000; i++) {
      const hex = randomBytes(16).toString('hex');
      expect(ntfyTopicProblem(hex), hex).toBeNull();
      const uuid = randomUUID();
      expect(ntfyTopicProblem(uuid), uuid).toBeNull();
    }
  });
});
