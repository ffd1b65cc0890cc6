export { OciLayoutStorage, type OciLayoutStorageOptions } from './oci-layout-storage.js';
export { LayoutPaths } from './paths.js';
