export * as cellV1 from './generated/cellpay/cell/v1/cell';
export * from './proto-files';
