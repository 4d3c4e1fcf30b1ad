import { signatureHeaders } from '@cellpay/signing';

import { CellpayClient, stressTrafficHeader } from './cellpay-client';

describe('CellpayClient.sign', () => {
  const secret = Buffer.alloc(32, 7);
  const clients: CellpayClient[] = [];
  const client = (stress: boolean | undefined): CellpayClient => {
    // No call is made: the channel stays idle, so the address needs no server.
    const created = new CellpayClient({ address: '127.0.0.1:1', keyId: 'key-1', secret, stress });
    clients.push(created);
    return created;
  };

  afterAll(() => {
    for (const created of clients) created.close();
  });

  it('marks every request as stress traffic when the client sends shadow traffic', () => {
    const metadata = client(true).sign('/cellpay.v1.Payments/Pay', { outTradeNo: 'o-1' });

    expect(metadata.get(stressTrafficHeader)).toEqual(['1']);
    expect(metadata.get(signatureHeaders.keyId)).toEqual(['key-1']);
  });

  it.each([false, undefined])('sends no stress mark for live traffic (stress %p)', (stress) => {
    const metadata = client(stress).sign('/cellpay.v1.Payments/Pay', { outTradeNo: 'o-1' });

    expect(metadata.get(stressTrafficHeader)).toEqual([]);
    expect(metadata.get(signatureHeaders.signature)).toHaveLength(1);
  });
});
