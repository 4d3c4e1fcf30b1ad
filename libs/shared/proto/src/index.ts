export * as cellV1 from './generated/cellpay/cell/v1/cell';
export * as publicV1 from './generated/cellpay/v1/cellpay';
export * from './proto-files';
export * from './error-details';
