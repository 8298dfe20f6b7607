export default function PresetsPage() { return <h1>Presets</h1>; }
