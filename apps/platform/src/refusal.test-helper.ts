import { CellpayError } from '@cellpay/sdk';

/** The platform's refusal of a call the test expects to fail; any other outcome fails the test. */
export async function refusalOf(promise: Promise<unknown>): Promise<CellpayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CellpayError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
