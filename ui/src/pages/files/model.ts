/** Files as GET /files/ lists them (GridFS documents, `_id` = the file name) and the upload form. */

export interface FileDoc {
  _id: string;
  length: number;
  uploadDate?: string;
  metadata?: { fileType?: string; oui?: string; productClass?: string; version?: string; md5?: string };
}

/** TR-069's Download FileType values (A.3.2.8); the NBI also takes vendor types "X <OUI> <name>". */
export const FILE_TYPES: Array<[string, string]> = [
  ['1 Firmware Upgrade Image', '1 Firmware Upgrade Image'],
  ['2 Web Content', '2 Web Content'],
  ['3 Vendor Configuration File', '3 Vendor Configuration File'],
  ['4 Tone File', '4 Tone File'],
  ['5 Ringer File', '5 Ringer File'],
];

export interface UploadForm {
  name: string;
  fileType: string;
  oui: string;
  productClass: string;
  version: string;
}

/** The upload's path and metadata headers, or the fields' errors. */
export function uploadRequest(f: UploadForm, file: { name: string } | null): {
  path?: string; headers?: Record<string, string>; errors: Partial<Record<keyof UploadForm | 'file', string>>;
} {
  const errors: Partial<Record<keyof UploadForm | 'file', string>> = {};
  if (!file) errors.file = 'choose a file';
  const name = (f.name.trim() || file?.name || '').trim();
  if (file && (!name || name.length > 256 || name.includes('\0'))) errors.name = 'a name of 1-256 characters';
  if (f.oui.trim() && !/^[0-9A-Fa-f]{6}$/.test(f.oui.trim())) errors.oui = 'six hexadecimal digits';
  if (Object.keys(errors).length) return { errors };
  const headers: Record<string, string> = { fileType: f.fileType };
  if (f.oui.trim()) headers.oui = f.oui.trim().toUpperCase();
  if (f.productClass.trim()) headers.productClass = f.productClass.trim();
  if (f.version.trim()) headers.version = f.version.trim();
  return { path: `/files/${encodeURIComponent(name)}`, headers, errors };
}
